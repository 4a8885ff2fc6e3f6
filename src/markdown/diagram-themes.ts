/**
 * Mermaid diagrams are rendered to SVG at build time, once per theme, so they follow Starlight's
 * theme toggle (not only the OS setting) with no JavaScript. rehype-mermaid's own `dark` option does
 * not apply to inline SVG, so this plugin, run before it, turns every ```mermaid block into a
 * <figure> holding a light and a dark copy of the block, each with Mermaid's theme set by an
 * init directive; CSS shows the copy that matches `data-theme`.
 */
import type { Element, ElementContent, Root } from 'hast';
import { toString } from 'hast-util-to-string';
import { SKIP, visit } from 'unist-util-visit';

function isMermaidBlock(node: Element): boolean {
  const code = node.children[0];
  if (node.tagName !== 'pre' || code?.type !== 'element' || code.tagName !== 'code') return false;
  const classes = code.properties.className;
  return Array.isArray(classes) && classes.includes('language-mermaid');
}

function themed(source: string, theme: 'default' | 'dark'): Element {
  return {
    type: 'element',
    tagName: 'div',
    properties: { className: [`diagram-${theme === 'dark' ? 'dark' : 'light'}`] },
    children: [
      {
        type: 'element',
        tagName: 'pre',
        properties: {},
        children: [{ type: 'element', tagName: 'code', properties: { className: ['language-mermaid'] }, children: [{ type: 'text', value: `%%{init: {"theme": "${theme}"}}%%\n${source}` }] }],
      },
    ],
  };
}

export default function rehypeDiagramThemes() {
  return (tree: Root) => {
    visit(tree, 'element', (node, index, parent) => {
      if (!parent || index === undefined || !isMermaidBlock(node)) return;
      const source = toString(node).trim();
      const figure: Element = {
        type: 'element',
        tagName: 'figure',
        properties: { className: ['diagram', 'not-content'] },
        children: [themed(source, 'default'), themed(source, 'dark')] as ElementContent[],
      };
      parent.children[index] = figure;
      return SKIP;
    });
  };
}

/**
 * Run after rehype-mermaid. Astro's MDX pipeline turns a <style> into a `set:html` prop, which it
 * renders correctly only outside SVG; inside an inline <svg> it comes out as an attribute and the
 * diagram loses its styles. Mermaid's rules are scoped by the SVG's id, so the <style> can sit just
 * before the <svg> in HTML instead.
 */
export function rehypeDiagramStylesOutOfSvg() {
  return (tree: Root) => {
    visit(tree, 'element', (node) => {
      if (node.tagName !== 'div' || !Array.isArray(node.properties.className) || !String(node.properties.className).startsWith('diagram-')) return;
      const out: ElementContent[] = [];
      for (const child of node.children) {
        if (child.type === 'element' && child.tagName === 'svg') {
          const styles = child.children.filter((c): c is Element => c.type === 'element' && c.tagName === 'style');
          child.children = child.children.filter((c) => !styles.includes(c as Element));
          // A comment beside the CSS keeps Astro from collapsing it into a `set:html` attribute.
          for (const style of styles) style.children.unshift({ type: 'comment', value: ' diagram styles ' } as unknown as ElementContent);
          out.push(...styles, child);
        } else out.push(child);
      }
      node.children = out;
      return SKIP;
    });
  };
}
