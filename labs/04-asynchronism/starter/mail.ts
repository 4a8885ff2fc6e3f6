// Provided: the mail provider, a node that stands for an email API (SendGrid, Postmark, Amazon SES).
// Like Stripe's API, it dedupes on an Idempotency-Key header: a request with a key it has seen
// sends nothing and gets the first answer again, even while the first is still being sent.
import type { Handler, NodeContext } from '@scale-lab/kit';

/** How long the provider takes to accept an email. */
export const MAIL_LATENCY_MS = 50;

/** POST http://mail/send with this JSON body (and, to be safe to retry, an Idempotency-Key header). */
export interface Email {
  to: string;
  subject: string;
  text: string;
}

/** An email the provider really sent (GET http://mail/sent lists them). */
export interface SentEmail extends Email {
  id: string;
  /** The Idempotency-Key it came with, if any. */
  key: string | null;
  at: number;
}

/** Every POST /send the provider received (GET http://mail/attempts lists them), sent or not. */
export interface SendAttempt {
  to: string | null;
  key: string | null;
  status: number;
  at: number;
}

const ADDRESS = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/**
 * POST /send: 400 for a malformed email or recipient (sending it again changes nothing), else sends
 * it and answers 200 { id }. A repeated Idempotency-Key answers what the first request got, with
 * `Idempotent-Replayed: true`, and sends nothing. GET /sent: every email sent, in order; GET
 * /attempts: every POST /send and its answer. POST /outage { ms, status }, for the tests: for the next
 * `ms`, every send is answered `status`, 503 unless it says 429 (nothing is sent, nothing is remembered).
 */
export function createMailProvider(ctx: NodeContext): Handler {
  const sent: SentEmail[] = [];
  const attempts: SendAttempt[] = [];
  let downUntil = 0;
  let downStatus = 503;
  const byKey = new Map<string, Promise<{ status: number; body: unknown }>>();

  async function send(email: Partial<Email>, key: string | null): Promise<{ status: number; body: unknown }> {
    await ctx.sleep(MAIL_LATENCY_MS);
    if (typeof email.to !== 'string' || !ADDRESS.test(email.to)) return { status: 400, body: { error: `invalid recipient ${JSON.stringify(email.to)}` } };
    if (typeof email.subject !== 'string' || typeof email.text !== 'string') return { status: 400, body: { error: 'an email needs a subject and a text' } };
    const id = `msg-${sent.length + 1}`;
    sent.push({ id, to: email.to, subject: email.subject, text: email.text, key, at: ctx.now() });
    return { status: 200, body: { id } };
  }

  return async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === 'GET' && path === '/sent') return Response.json(sent);
    if (req.method === 'GET' && path === '/attempts') return Response.json(attempts);
    if (req.method === 'POST' && path === '/outage') {
      const { ms, status } = (await req.json()) as { ms: number; status?: number };
      downUntil = ctx.now() + ms;
      downStatus = status === 429 ? 429 : 503;
      return Response.json({ downUntil });
    }
    if (req.method !== 'POST' || path !== '/send') return Response.json({ error: 'try POST /send' }, { status: 404 });
    const email = (await req.json().catch(() => ({}))) as Partial<Email>;
    const key = req.headers.get('idempotency-key');
    const at = ctx.now();
    const answer = await answerSend(email, key);
    attempts.push({ to: typeof email.to === 'string' ? email.to : null, key, status: answer.status, at });
    return answer;
  };

  async function answerSend(email: Partial<Email>, key: string | null): Promise<Response> {
    if (ctx.now() < downUntil) {
      await ctx.sleep(MAIL_LATENCY_MS);
      if (downStatus === 429) return Response.json({ error: 'too many requests, slow down and try again later' }, { status: 429 });
      return Response.json({ error: 'the provider is unavailable, try again later' }, { status: 503 });
    }
    if (key === null) {
      const answer = await send(email, null);
      return Response.json(answer.body, { status: answer.status });
    }
    const first = byKey.get(key);
    if (first) {
      const answer = await first;
      return Response.json(answer.body, { status: answer.status, headers: { 'idempotent-replayed': 'true' } });
    }
    const answer = send(email, key);
    byKey.set(key, answer);
    const { status, body } = await answer;
    return Response.json(body, { status });
  }
}
