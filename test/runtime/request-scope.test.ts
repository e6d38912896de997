// HTTP requests run without a Domain (and so without Node's process-wide domain hook);
// a process that also defines a job gets Node's domains back, which the framework's
// CloudEvent wrapper needs (it calls process.domain.bind()).
import domain from 'node:domain';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { defineHttpFunction, route } from '../../shared/runtime/http.ts';
import { defineJob } from '../../shared/runtime/job.ts';
import { HttpRequestScope, httpRequestScopesInUse } from '../../shared/runtime/request-scope.ts';

/** What a handler sees of domains while it runs. */
const probe = async () => {
  const pending = Promise.resolve();
  await pending;
  return {
    active: Boolean((process as { domain?: unknown }).domain),
    entered: (domain as unknown as { _stack: unknown[] })._stack.length,
    promiseDomain: 'domain' in pending,
  };
};

defineHttpFunction('scope-probe', [
  route({ method: 'GET', path: '/probe', auth: 'public', handler: probe }),
]);

describe('request scopes', () => {
  it('a scope offers what the framework uses of a Domain: on(error) and run(fn, ...args)', () => {
    const scope = new HttpRequestScope();
    const seen: unknown[] = [];
    scope.on('error', (err) => seen.push(err));
    expect(scope.run((a: number, b: number) => a + b, 2, 3)).toBe(5);
    expect(seen).toEqual([]);
  });

  // One test, in this order: defining a job changes the process for good, so the HTTP-only
  // half must run first whatever order the tests are run in.
  it('an HTTP-only process serves requests outside any domain; a job brings Node domains back, and both kinds of function work', async () => {
    expect(httpRequestScopesInUse()).toBe(true);
    expect(domain.create()).toBeInstanceOf(HttpRequestScope);
    const first = await request(getTestServer('scope-probe')).get('/probe');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ active: false, entered: 0, promiseDomain: false });

    let ran = 0;
    defineJob('scope-probe-job', {
      run: async () => {
        ran += 1;
        return { rowsTouched: 0, counts: {}, details: {} };
      },
    });
    expect(httpRequestScopesInUse()).toBe(false);
    expect(domain.create()).toBeInstanceOf(domain.Domain);
    // A later HTTP function does not take them away again.
    defineHttpFunction('scope-probe-later', [
      route({ method: 'GET', path: '/probe', auth: 'public', handler: probe }),
    ]);
    expect(httpRequestScopesInUse()).toBe(false);

    const event = {
      specversion: '1.0',
      type: 'google.cloud.pubsub.topic.v1.messagePublished',
      source: '//pubsub.googleapis.com/projects/test/topics/jobs',
      id: 'scope-probe-1',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: { message: { data: Buffer.from('{}').toString('base64'), messageId: 'm-1' } },
    };
    const job = await request(getTestServer('scope-probe-job'))
      .post('/')
      .set('content-type', 'application/cloudevents+json')
      .send(JSON.stringify(event));
    expect(job.status).toBe(204);
    expect(ran).toBe(1);

    // The HTTP handler leaves the real domain before it runs.
    const res = await request(getTestServer('scope-probe-later')).get('/probe');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ active: false, entered: 0, promiseDomain: false });
  });
});
