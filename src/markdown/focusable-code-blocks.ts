import type { ExpressiveCodePlugin } from '@astrojs/starlight/expressive-code';

interface HastNode {
  type: string;
  tagName?: string;
  properties?: Record<string, unknown>;
  children?: HastNode[];
}

/**
 * A code block wider than the page scrolls sideways, and a keyboard user can only scroll it once it
 * takes focus. Expressive Code adds `tabindex="0"` from a script that waits for a ResizeObserver, a
 * 250 ms timer and an idle callback, so until then (and always without JavaScript) a scrolling block
 * cannot be reached. Every block is focusable in the HTML itself; that script still removes the
 * tab stop from the blocks that turn out not to scroll.
 */
export function focusableCodeBlocks(): ExpressiveCodePlugin {
  return {
    name: 'scale-lab:focusable-code-blocks',
    hooks: {
      postprocessRenderedBlock({ renderData }) {
        const visit = (node: HastNode) => {
          if (node.type === 'element' && node.tagName === 'pre') node.properties = { ...node.properties, tabindex: 0 };
          node.children?.forEach(visit);
        };
        visit(renderData.blockAst as HastNode);
      },
    },
  };
}
