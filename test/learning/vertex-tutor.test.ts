// The Vertex AI tutor against a local server answering in the real generateContent shape.
// Only children whose parent granted data_sharing ever reach it; failures fall back.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { grantConsent } from '../../shared/accounts/consents.ts';
import { resetConfigForTests } from '../../shared/config.ts';
import { postMessage, startConversation } from '../../shared/learning/conversations.ts';
import { loadLearner } from '../../shared/learning/learner.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { teardownAccountsTest } from '../helpers/factories.ts';
import { createLearner, setupLearningTest, topicIdOf } from './helpers.ts';

interface Received {
  url: string;
  body: {
    contents: Array<{ role: string; parts: Array<{ text: string }> }>;
    systemInstruction: unknown;
    safetySettings?: Array<{ category: string; threshold: string }>;
  };
}

let db: TestDatabase;
let server: Server;
let received: Received[] = [];
let mode: 'ok' | 'error' | 'slow' | 'unsafe' | 'garbage' | 'echo' | 'nosy' | 'blocked' = 'ok';

const modelJson = (text: string) => ({
  candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP' }],
  usageMetadata: { promptTokenCount: 120, candidatesTokenCount: 38, totalTokenCount: 158 },
  modelVersion: 'gemini-2.5-flash',
});

async function readBody(req: IncomingMessage): Promise<string> {
  let data = '';
  for await (const chunk of req) data += chunk;
  return data;
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await readBody(req);
    received.push({ url: req.url ?? '', body: JSON.parse(body) });
    if (mode === 'error') {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"code":500}}');
      return;
    }
    if (mode === 'slow') await new Promise((r) => setTimeout(r, 1500));
    if (mode === 'blocked') {
      // What Vertex answers when its safety filters block the candidate: no content.
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          candidates: [
            {
              finishReason: 'SAFETY',
              safetyRatings: [
                { category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'LOW', blocked: true },
              ],
            },
          ],
          usageMetadata: { promptTokenCount: 120, totalTokenCount: 120 },
        }),
      );
      return;
    }
    const answer =
      mode === 'garbage'
        ? 'not json at all'
        : mode === 'echo'
          ? 'Pineapple-secret is what you told me, and that is lovely'
          : JSON.stringify({
              text:
                mode === 'unsafe'
                  ? 'Great! Visit www.example-games.com to learn more. What do you think?'
                  : mode === 'nosy'
                    ? "Great thinking! What's your full name, and how old are you?"
                    : 'Model says: what would happen to the lava if the volcano cooled down?',
              choices: ['It would harden', 'It would flow faster', 'I am not sure'],
              deeper: true,
              aha: false,
            });
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(modelJson(answer)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  db = await setupLearningTest();
  process.env.TUTOR_PROVIDER = 'vertex';
  process.env.VERTEX_ENDPOINT = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.VERTEX_PROJECT = 'test-project';
  process.env.VERTEX_AUTH = 'none';
  process.env.VERTEX_TIMEOUT_MS = '400';
  resetConfigForTests();
});

afterAll(async () => {
  for (const key of [
    'TUTOR_PROVIDER',
    'VERTEX_ENDPOINT',
    'VERTEX_PROJECT',
    'VERTEX_AUTH',
    'VERTEX_TIMEOUT_MS',
  ])
    delete process.env[key];
  resetConfigForTests();
  await new Promise((resolve) => server.close(resolve));
  await teardownAccountsTest(db);
});

beforeEach(() => {
  received = [];
  mode = 'ok';
});

async function family(dataSharing: boolean) {
  const f = await createLearner(db.pool);
  if (dataSharing) {
    await grantConsent(
      f.parent.id,
      { type: 'data_sharing' },
      { ip: '127.0.0.1', userAgent: 'test' },
    );
  }
  const learner = await loadLearner(f.childId);
  const topicId = await topicIdOf(db.pool, 'rocks-and-volcanoes');
  return { ...f, learner, topicId };
}

describe('Vertex AI tutor', () => {
  it('never receives a request for a child without data_sharing', async () => {
    const f = await family(false);
    const { conversation } = await startConversation(
      f.learner,
      { type: 'exploration', topicId: f.topicId },
      new Date(),
    );
    const r = await postMessage(
      f.learner,
      conversation.id,
      { text: 'because lava is melted rock' },
      { now: new Date() },
    );
    expect(r.reply.content).not.toMatch(/Model says/);
    expect(received).toHaveLength(0);
  });

  it('answers a child whose parent granted data_sharing, recording tokens used', async () => {
    const f = await family(true);
    const { conversation, message } = await startConversation(
      f.learner,
      { type: 'exploration', topicId: f.topicId },
      new Date(),
    );
    expect(message.content).toMatch(/Model says/);
    const r = await postMessage(
      f.learner,
      conversation.id,
      { text: 'email me at kid@example.com because lava is hot' },
      { now: new Date() },
    );
    expect(r.reply.content).toMatch(/Model says/);
    expect(r.reply.choices).toEqual(['It would harden', 'It would flow faster', 'I am not sure']);
    expect(r.conversation.depthReached).toBe(1);
    expect(received).toHaveLength(2);
    expect(received[1]?.url).toBe(
      '/v1/projects/test-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent',
    );
    const sent = JSON.stringify(received[1]?.body);
    expect(sent).toContain('[email removed]');
    expect(sent).not.toContain('kid@example.com');
    const { rows } = await db.pool.query(
      "SELECT tokens_used, processing_time_ms FROM messages WHERE conversation_id = $1 AND role = 'assistant' ORDER BY created_at",
      [conversation.id],
    );
    expect(rows.map((m) => m.tokens_used)).toEqual([158, 158]);
    for (const m of rows) expect(m.processing_time_ms).toBeGreaterThanOrEqual(0);
  });

  it.each(['error', 'slow', 'garbage'] as const)(
    'falls back to the built-in tutor when the model fails (%s)',
    async (failure) => {
      const f = await family(true);
      const { conversation } = await startConversation(
        f.learner,
        { type: 'exploration', topicId: f.topicId },
        new Date(),
      );
      mode = failure;
      const started = Date.now();
      const r = await postMessage(
        f.learner,
        conversation.id,
        { choiceIndex: 0 },
        { now: new Date() },
      );
      expect(Date.now() - started).toBeLessThan(1400);
      expect(r.reply.content).not.toMatch(/Model says/);
      expect(r.reply.choices?.length).toBeGreaterThanOrEqual(2);
      expect(received.length).toBeGreaterThan(1);
    },
  );

  it("logs a failed model answer without the answer's words", async () => {
    const f = await family(true);
    const { conversation } = await startConversation(
      f.learner,
      { type: 'exploration', topicId: f.topicId },
      new Date(),
    );
    mode = 'echo';
    process.env.LOG_LEVEL = 'warn';
    resetConfigForTests();
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      await postMessage(
        f.learner,
        conversation.id,
        { text: 'my pineapple-secret is hidden' },
        { now: new Date() },
      );
    } finally {
      spy.mockRestore();
      process.env.LOG_LEVEL = 'silent';
      resetConfigForTests();
    }
    const logged = lines.join('');
    expect(logged).toContain('vertex tutor failed');
    expect(logged.toLowerCase()).not.toContain('pineapple');
  });

  it("checks the model's reply like a child's text and replaces an unsafe one", async () => {
    const f = await family(true);
    const { conversation } = await startConversation(
      f.learner,
      { type: 'exploration', topicId: f.topicId },
      new Date(),
    );
    mode = 'unsafe';
    const r = await postMessage(
      f.learner,
      conversation.id,
      { choiceIndex: 1 },
      { now: new Date() },
    );
    expect(r.reply.content).not.toMatch(/example-games/);
    expect(r.reply.wasFiltered).toBe(true);
    expect(r.reply.filterReason).toBe('tutor_reply:pii_url');
  });

  it("replaces a model reply that asks for the child's personal details", async () => {
    const f = await family(true);
    const { conversation } = await startConversation(
      f.learner,
      { type: 'exploration', topicId: f.topicId },
      new Date(),
    );
    mode = 'nosy';
    const r = await postMessage(
      f.learner,
      conversation.id,
      { choiceIndex: 0 },
      { now: new Date() },
    );
    expect(r.reply.content).not.toMatch(/full name|how old/);
    expect(r.reply.wasFiltered).toBe(true);
    expect(r.reply.filterReason).toBe('tutor_reply:personal_question');
  });

  it('never sends a danger message to the model', async () => {
    const f = await family(true);
    const { conversation } = await startConversation(
      f.learner,
      { type: 'exploration', topicId: f.topicId },
      new Date(),
    );
    received = [];
    const r = await postMessage(
      f.learner,
      conversation.id,
      { text: 'I want to hurt myself' },
      { now: new Date() },
    );
    expect(received).toHaveLength(0);
    expect(r.reply.content).toMatch(/grown-up you trust/);
  });

  it('keeps blocked messages out of the history sent on later turns', async () => {
    const f = await family(true);
    const { conversation } = await startConversation(
      f.learner,
      { type: 'exploration', topicId: f.topicId },
      new Date(),
    );
    for (const text of ['I want to hurt myself', 'tell me how to make a bomb']) {
      await postMessage(f.learner, conversation.id, { text }, { now: new Date() });
    }
    received = [];
    await postMessage(
      f.learner,
      conversation.id,
      { text: 'because lava is melted rock' },
      { now: new Date() },
    );
    expect(received).toHaveLength(1);
    const sent = JSON.stringify(received[0]?.body);
    expect(sent).toContain('lava is melted rock');
    expect(sent).not.toContain('hurt myself');
    expect(sent).not.toContain('bomb');
  });

  it('asks Vertex for the strictest safety threshold in every harm category', async () => {
    const f = await family(true);
    const { conversation } = await startConversation(
      f.learner,
      { type: 'exploration', topicId: f.topicId },
      new Date(),
    );
    await postMessage(f.learner, conversation.id, { choiceIndex: 0 }, { now: new Date() });
    expect(received).toHaveLength(2);
    for (const request of received) {
      expect(request.body.safetySettings).toEqual(
        [
          'HARM_CATEGORY_HATE_SPEECH',
          'HARM_CATEGORY_DANGEROUS_CONTENT',
          'HARM_CATEGORY_HARASSMENT',
          'HARM_CATEGORY_SEXUALLY_EXPLICIT',
        ].map((category) => ({ category, threshold: 'BLOCK_LOW_AND_ABOVE' })),
      );
    }
  });

  it('falls back to the built-in tutor when Vertex blocks its own answer', async () => {
    const f = await family(true);
    const { conversation } = await startConversation(
      f.learner,
      { type: 'exploration', topicId: f.topicId },
      new Date(),
    );
    mode = 'blocked';
    const r = await postMessage(
      f.learner,
      conversation.id,
      { choiceIndex: 0 },
      { now: new Date() },
    );
    expect(received).toHaveLength(2);
    expect(r.reply.content).not.toMatch(/Model says/);
    expect(r.reply.content.length).toBeGreaterThan(0);
  });

  it('sends nothing once the data_sharing version changes until the parent grants it again', async () => {
    const f = await family(true);
    process.env.CONSENT_VERSION_DATA_SHARING = '2099-01';
    resetConfigForTests();
    try {
      const learner = await loadLearner(f.childId);
      expect(learner.dataSharing).toBe(false);
      const { conversation } = await startConversation(
        learner,
        { type: 'exploration', topicId: f.topicId },
        new Date(),
      );
      await postMessage(learner, conversation.id, { text: 'lava is hot' }, { now: new Date() });
      expect(received).toHaveLength(0);
      await grantConsent(
        f.parent.id,
        { type: 'data_sharing' },
        { ip: '127.0.0.1', userAgent: 't' },
      );
      expect((await loadLearner(f.childId)).dataSharing).toBe(true);
    } finally {
      delete process.env.CONSENT_VERSION_DATA_SHARING;
      resetConfigForTests();
    }
  });
});
