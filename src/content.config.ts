import { defineCollection } from 'astro:content';
import { glob } from 'astro/loaders';
import { docsLoader } from '@astrojs/starlight/loaders';
import { docsSchema } from '@astrojs/starlight/schema';
import { quizSchema } from './schemas/quiz.ts';

export const collections = {
  docs: defineCollection({ loader: docsLoader(), schema: docsSchema() }),
  /** One self-check quiz per chapter: src/content/quizzes/<nn-topic>.json (schema: src/schemas/quiz.ts). */
  quizzes: defineCollection({ loader: glob({ pattern: '*.json', base: './src/content/quizzes' }), schema: quizSchema }),
};
