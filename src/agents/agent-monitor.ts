import type { Logger } from 'pino';
import { request, type Dispatcher } from 'undici';
import type { ConfigSnapshot } from '../snapshot/config-snapshot.js';
import { fetchCard } from './agent-card.js';
import type { AgentRuntime } from './agent-runtime.js';

export type AgentHealth = 'running' | 'unknown';

interface Checked {
  /** What was checked: a changed URL is checked anew. */
  target: string;
  ok: boolean;
  card: Record<string, unknown> | null;
}

/**
 * Checks each agent served here in the background, never on a request's path: an A2A agent's card
 * (kept as the card the proxy serves, rewritten), an HTTP agent's URL (any answer below 500 is a
 * live agent: one that wants its own credentials answers 401). New agents are checked as soon as
 * their snapshot arrives; all of them every `intervalMs`, each within `timeoutMs`.
 */
export class AgentMonitor {
  private readonly checked = new Map<string, Checked>();
  private readonly pending = new Map<string, Promise<Checked>>();
  /** Cards fetched for a client's `A2A-Version` (an agent may serve a 0.3 and a 1.0 card), by agent id and version. */
  private readonly versionedCards = new Map<string, { target: string; card: Record<string, unknown> }>();
  private readonly versionedPending = new Map<string, Promise<Record<string, unknown> | null>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly snapshot: () => ConfigSnapshot,
    private readonly dispatcher: Dispatcher,
    private readonly logger: Logger,
    private readonly options: { intervalMs: number; timeoutMs: number },
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.checkAll(true), this.options.intervalMs);
    this.timer.unref();
    void this.checkAll(false);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** After a new snapshot: checks the agents not checked yet (or whose URL changed). */
  onSnapshot(): void {
    void this.checkAll(false);
  }

  health(agentId: string): AgentHealth {
    return this.checked.get(agentId)?.ok ? 'running' : 'unknown';
  }

  /**
   * The agent's card as last fetched; fetched now (once, shared by concurrent callers) when there
   * is none yet. `version`: the client's `A2A-Version` header, passed on to the agent.
   */
  async card(agent: AgentRuntime, version?: string): Promise<Record<string, unknown> | null> {
    const target = targetOf(agent);
    if (version === undefined) {
      const known = this.checked.get(agent.id);
      if (known?.card && known.target === target) return known.card;
      return (await this.check(agent)).card;
    }
    const key = `${agent.id}|${version}`;
    const known = this.versionedCards.get(key);
    if (known && known.target === target) return known.card;
    let pending = this.versionedPending.get(key);
    if (!pending) {
      pending = fetchCard(target, this.dispatcher, this.options.timeoutMs, { 'a2a-version': version })
        .then((card) => {
          this.versionedCards.set(key, { target, card });
          return card;
        })
        .catch((err: unknown) => {
          this.logger.debug({ err, agent: agent.name }, 'agent card fetch failed');
          return known?.card ?? null;
        })
        .finally(() => this.versionedPending.delete(key));
      this.versionedPending.set(key, pending);
    }
    return pending;
  }

  private async checkAll(everyone: boolean): Promise<void> {
    const agents: AgentRuntime[] = [];
    const ids = new Set<string>();
    for (const byName of this.snapshot().agents?.values() ?? []) {
      for (const agent of byName.values()) {
        ids.add(agent.id);
        const known = this.checked.get(agent.id);
        if (everyone || !known || known.target !== targetOf(agent)) agents.push(agent);
      }
    }
    for (const id of this.checked.keys()) if (!ids.has(id)) this.checked.delete(id);
    for (const key of this.versionedCards.keys()) if (!ids.has(key.slice(0, key.indexOf('|')))) this.versionedCards.delete(key);
    // Versioned cards are refreshed with the periodic check, in the background like the rest.
    const refreshes = everyone ? [...this.versionedCards.entries()].map(([key, known]) => this.refreshVersioned(key, known.target)) : [];
    await Promise.all([...agents.map((a) => this.check(a)), ...refreshes]);
  }

  private async refreshVersioned(key: string, target: string): Promise<void> {
    try {
      const card = await fetchCard(target, this.dispatcher, this.options.timeoutMs, { 'a2a-version': key.slice(key.indexOf('|') + 1) });
      this.versionedCards.set(key, { target, card });
    } catch (err) {
      this.logger.debug({ err, key }, 'agent card refresh failed; the last card stays served');
    }
  }

  private check(agent: AgentRuntime): Promise<Checked> {
    const running = this.pending.get(agent.id);
    if (running) return running;
    const target = targetOf(agent);
    const done = this.probe(agent, target)
      .then((result) => {
        this.checked.set(agent.id, result);
        return result;
      })
      .finally(() => this.pending.delete(agent.id));
    this.pending.set(agent.id, done);
    return done;
  }

  private async probe(agent: AgentRuntime, target: string): Promise<Checked> {
    const { timeoutMs } = this.options;
    try {
      if (agent.protocol === 'a2a') {
        const card = await fetchCard(target, this.dispatcher, timeoutMs);
        return { target, ok: true, card };
      }
      const res = await request(target, { method: 'GET', dispatcher: this.dispatcher, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      return { target, ok: res.statusCode < 500, card: null };
    } catch (err) {
      this.logger.debug({ err, agent: agent.name }, 'agent health check failed');
      // A card fetched before stays served while the agent is down: clients can still discover it.
      const previous = this.checked.get(agent.id);
      return { target, ok: false, card: previous?.target === target ? previous.card : null };
    }
  }
}

const targetOf = (agent: AgentRuntime): string => (agent.protocol === 'a2a' ? (agent.agentCardUrl ?? agent.url) : agent.url);
