import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedBasic, startGateway, type TestGateway } from '../support/harness.js';

/** Errors name the field at fault (`error.param`), so the console can show them next to it. */
describe('admin errors name the field', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway();
    await seedBasic(gw);
    await gw.admin('POST', '/resources', { name: 'r2' });
  });
  afterAll(() => gw.close());

  const param = async (method: string, path: string, body: unknown) => {
    const res = await gw.admin(method, path, body);
    return { status: res.status, code: res.body.error.code, param: res.body.error.param };
  };

  it('on conflicts, unknown references and rule violations', async () => {
    expect(await param('POST', '/resources', { name: 'r1' })).toEqual({ status: 409, code: 'already_exists', param: 'name' });
    expect(await param('POST', '/gateways', { name: 'gw2', resource: 'nope', instance: { mode: 'new' } })).toEqual({
      status: 404,
      code: 'not_found',
      param: 'resource',
    });
    expect(await param('POST', '/gateways', { name: 'gw2', resource: 'r1', instance: { mode: 'new' } })).toEqual({
      status: 409,
      code: 'resource_has_gateway',
      param: 'resource',
    });
    expect(await param('POST', '/gateways', { name: 'gw2', resource: 'r2', instance: { mode: 'existing', name: 'gw1' } })).toEqual({
      status: 409,
      code: 'instance_in_use',
      param: 'instance.name',
    });
    expect(await param('POST', '/gateways/gw1/limits', { project: 'p1', tokenQuota: 5 })).toEqual({
      status: 400,
      code: 'validation_failed',
      param: 'quotaPeriod',
    });
    expect(await param('POST', '/gateways/gw1/limits', { project: 'p1', deployment: 'nope', tokensPerMinute: 5 })).toEqual({
      status: 404,
      code: 'not_found',
      param: 'deployment',
    });
    expect((await gw.admin('POST', '/gateways/gw1/limits', { project: 'p1', tokensPerMinute: 5 })).status).toBe(201);
    expect(await param('POST', '/gateways/gw1/limits', { project: 'p1', tokensPerMinute: 6 })).toEqual({
      status: 409,
      code: 'limit_exists',
      param: 'deployment',
    });
    expect(await param('POST', '/resources/r1/deployments', { name: 'x', provider: 'openai-compatible' })).toEqual({
      status: 400,
      code: 'validation_failed',
      param: 'upstreamUrl',
    });
  });
});
