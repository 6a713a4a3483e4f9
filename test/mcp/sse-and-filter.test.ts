import { describe, expect, it } from 'vitest';
import { describeMessage } from '../../src/mcp/jsonrpc.js';
import { eventData, EventTooLarge, SseEventSplitter, withEventData } from '../../src/mcp/sse-events.js';
import { filterToolList, filterToolListText } from '../../src/mcp/tool-filter.js';

describe('SseEventSplitter', () => {
  it('answers each event once complete, whatever the chunking and line endings', () => {
    const text = 'event: message\r\nid: 1\r\ndata: {"a":1}\r\n\r\ndata: x\rdata: y\r\rdata: é\n\n';
    const whole = new SseEventSplitter(1000).push(text);
    expect(whole).toEqual(['event: message\nid: 1\ndata: {"a":1}\n\n', 'data: x\ndata: y\n\n', 'data: é\n\n']);
    // Byte by byte (a CRLF and the two bytes of "é" split across chunks): the same events.
    const bytes = Buffer.from(text, 'utf8');
    const splitter = new SseEventSplitter(1000);
    const events: string[] = [];
    for (let i = 0; i < bytes.length; i++) events.push(...splitter.push(bytes.subarray(i, i + 1)));
    expect(events).toEqual(whole);
    expect(splitter.flush()).toBe('');
  });

  it('keeps a partial event until it ends, and refuses one past the bound', () => {
    const splitter = new SseEventSplitter(16);
    expect(splitter.push('data: 12')).toEqual([]);
    expect(splitter.push('3\n\n')).toEqual(['data: 123\n\n']);
    expect(() => splitter.push('data: 0123456789abcdef')).toThrow(EventTooLarge);
  });

  it('reads and replaces an event data, keeping its other fields', () => {
    expect(eventData('event: message\nid: 7\ndata: {"a":\ndata: 1}\n\n')).toBe('{"a":\n1}');
    expect(eventData(': comment\n\n')).toBeNull();
    expect(withEventData('event: message\nid: 7\ndata: old\n\n', '{"b":2}')).toBe('event: message\nid: 7\ndata: {"b":2}\n\n');
  });
});

describe('tool allow-list filter', () => {
  const answer = { jsonrpc: '2.0', id: 3, result: { tools: [{ name: 'a' }, { name: 'b' }, { name: 'c' }, 'junk'], nextCursor: 'n' } };
  it('keeps only the allowed tools of a tool list, and leaves other messages alone', () => {
    expect(filterToolList(answer, new Set(['a', 'c']))).toEqual({ jsonrpc: '2.0', id: 3, result: { tools: [{ name: 'a' }, { name: 'c' }], nextCursor: 'n' } });
    expect(filterToolList({ jsonrpc: '2.0', id: 1, result: { content: [] } }, new Set())).toBeNull();
    expect(filterToolListText(JSON.stringify(answer), new Set())).toBe(JSON.stringify({ ...answer, result: { tools: [], nextCursor: 'n' } }));
    expect(filterToolListText('{"jsonrpc":"2.0","method":"notifications/progress"}', new Set())).toBeNull();
    expect(filterToolListText('not json "tools"', new Set())).toBeNull();
  });
});

describe('describeMessage', () => {
  it('tells requests, tool calls, notifications, responses, batches and junk apart', () => {
    expect(describeMessage({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } })).toEqual({ kind: 'request', id: 1, method: 'tools/call', tool: 'x' });
    expect(describeMessage({ jsonrpc: '2.0', id: 'a', method: 'tools/list' })).toEqual({ kind: 'request', id: 'a', method: 'tools/list', tool: null });
    expect(describeMessage({ jsonrpc: '2.0', method: 'notifications/initialized' })).toEqual({ kind: 'notification', method: 'notifications/initialized' });
    expect(describeMessage({ jsonrpc: '2.0', id: 4, result: {} })).toEqual({ kind: 'response', id: 4 });
    expect(describeMessage([{ jsonrpc: '2.0', id: 1, method: 'ping' }])).toEqual({ kind: 'batch' });
    expect(describeMessage({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} }).kind).toBe('invalid');
    expect(describeMessage({ id: 1, method: 'ping' }).kind).toBe('invalid');
    expect(describeMessage({ jsonrpc: '2.0', id: { x: 1 }, method: 'ping' }).kind).toBe('invalid');
    expect(describeMessage('text').kind).toBe('invalid');
  });
});
