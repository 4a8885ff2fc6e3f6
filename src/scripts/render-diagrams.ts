// Fallback for sites built without Chromium: render the page's diagrams in the browser, loading
// Mermaid only when the page has one.
const blocks = document.querySelectorAll<HTMLElement>('pre.mermaid');
if (blocks.length > 0) {
  const { default: mermaid } = await import('mermaid');
  mermaid.initialize({ startOnLoad: false });
  await mermaid.run({ nodes: [...blocks] });
}

export {};
