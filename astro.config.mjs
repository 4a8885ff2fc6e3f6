// @ts-check
import { existsSync } from 'node:fs';
import { defineConfig } from 'astro/config';
import starlight from '@astrojs/starlight';
import { unified } from '@astrojs/markdown-remark';
import rehypeMermaid from 'rehype-mermaid';
import rehypeDiagramThemes, { rehypeDiagramStylesOutOfSvg } from './src/markdown/diagram-themes.ts';
import { focusableCodeBlocks } from './src/markdown/focusable-code-blocks.ts';
import checkLinks from './src/integrations/check-links.ts';
import hostingFiles from './src/integrations/hosting-files.ts';
import monacoTsLibs from './src/integrations/monaco-ts-libs.ts';
import { EDITOR_TS_LIBS } from './src/components/lab/editor-libs.ts';
import { ISOLATION_HEADERS } from './src/hosting/headers.ts';


/** A Chromium to render diagrams at build time: $CHROMIUM_PATH, Debian's, or Playwright's own. */
async function findChromium() {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  try {
    const { chromium } = await import('playwright-core');
    candidates.push(chromium.executablePath());
  } catch {
    // playwright-core is a dev dependency: absent in a production-only install.
  }
  return candidates.find((path) => path && existsSync(path));
}

// The lab's runtime policy is read by the page from PUBLIC_LAB_RUNTIME; a typo should stop the build, not surprise readers.
const RUNTIME_POLICIES = ['auto', 'worker', 'webcontainer'];
if (process.env.PUBLIC_LAB_RUNTIME && !RUNTIME_POLICIES.includes(process.env.PUBLIC_LAB_RUNTIME)) {
  throw new Error(`PUBLIC_LAB_RUNTIME is "${process.env.PUBLIC_LAB_RUNTIME}"; use one of ${RUNTIME_POLICIES.join(', ')} (or leave it unset for auto).`);
}

const chromium = await findChromium();
if (!chromium) {
  console.warn(
    '[scale-lab] No Chromium found (set CHROMIUM_PATH, or install chromium): diagrams will be rendered in the ' +
      "reader's browser instead of at build time, which costs pages with diagrams about 660 KB of JavaScript.",
  );
}

/**
 * Monaco's ESM build imports its CSS piece by piece; left to the bundler, that CSS would be linked
 * from every page of the course. Stub those imports; the editor attaches Monaco's one stylesheet
 * itself when a lab opens.
 */
function monacoCssOnDemand() {
  return {
    name: 'scale-lab:monaco-css-on-demand',
    enforce: /** @type {const} */ ('pre'),
    /** @param {string} source @param {string | undefined} importer */
    resolveId(source, importer) {
      if (source.endsWith('.css') && importer?.includes('/node_modules/monaco-editor/esm/')) return '\0monaco-css-stub';
      return null;
    },
    /** @param {string} id */
    load(id) {
      return id === '\0monaco-css-stub' ? 'export default ""' : null;
    },
  };
}

/** Pages the e2e tests drive the lab runtimes through; built only when the tests ask (npm test does). */
function testPages() {
  return {
    name: 'scale-lab:test-pages',
    hooks: {
      /** @param {{ injectRoute: (route: { pattern: string; entrypoint: string }) => void }} options */
      'astro:config:setup': ({ injectRoute }) => {
        if (process.env.SCALE_LAB_TEST_PAGES !== '1') return;
        for (const page of ['worker-runtime', 'lab-view', 'added-step']) injectRoute({ pattern: `/e2e/${page}`, entrypoint: `./src/test-pages/${page}.astro` });
      },
    },
  };
}

const mermaid = chromium
  ? [rehypeMermaid, {
      strategy: 'inline-svg',
      launchOptions: {
        executablePath: chromium,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      },
    }]
  : [rehypeMermaid, { strategy: 'pre-mermaid' }];

export default defineConfig({
  site: process.env.SCALE_LAB_SITE ?? 'https://scale-lab.invalid',
  base: process.env.SCALE_LAB_BASE ?? '/',
  outDir: process.env.SCALE_LAB_OUT_DIR ?? './dist',
  trailingSlash: 'always',
  // The headers WebContainer needs, sent by `astro dev` and `astro preview` as by the shipped host files.
  server: { headers: ISOLATION_HEADERS },
  markdown: {
    processor: unified({ rehypePlugins: [rehypeDiagramThemes, /** @type {any} */ (mermaid), rehypeDiagramStylesOutOfSvg] }),
    syntaxHighlight: { type: 'shiki', excludeLangs: ['mermaid'] },
  },
  vite: {
    plugins: [monacoCssOnDemand(), monacoTsLibs(EDITOR_TS_LIBS)],
    // Workers are bundled on their own: Monaco's TypeScript worker needs the lib plugin there too.
    worker: { format: 'es', plugins: () => [monacoTsLibs(EDITOR_TS_LIBS)] },
    define: { 'import.meta.env.SCALE_LAB_DIAGRAMS_IN_BROWSER': JSON.stringify(!chromium) },
  },
  integrations: [
    starlight({
      title: 'Scale Lab',
      description: 'How a web service grows from one server to many datacenters, by building it: an interactive course in TypeScript.',
      customCss: ['./src/styles/course.css'],
      expressiveCode: { plugins: [focusableCodeBlocks()] },
      components: { MarkdownContent: './src/components/MarkdownContent.astro', Sidebar: './src/components/Sidebar.astro' },
      sidebar: [
        { label: 'Start here', items: [{ label: 'About this course', link: '/' }] },
        { label: 'Chapters', items: [{ autogenerate: { directory: 'chapters' } }] },
        { label: 'Reference', items: [{ label: 'Numbers to know', link: 'reference/numbers/' }] },
        {
          label: 'Your progress',
          items: [
            { label: 'Progress', link: 'progress/' },
            { label: 'Team view', link: 'team/' },
          ],
        },
      ],
    }),
    checkLinks(),
    hostingFiles(),
    testPages(),
  ],
});
