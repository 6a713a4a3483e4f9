import type { Dialect } from './operation.js';

/** A deployment as the model list shows it. */
export interface ListedModel {
  readonly name: string;
  readonly provider: string;
}

const EPOCH = '1970-01-01T00:00:00Z';

/**
 * The model list (GET): the deployments the key may use that speak the dialect, in that API's
 * list format. Answered by the gateway itself, never forwarded, never metered.
 */
export interface ModelsSpec {
  /** The GET path of each dialect's list. */
  readonly routes: ReadonlyMap<string, Dialect>;
  /** The list body in the dialect's format. */
  body(dialect: Dialect, models: readonly ListedModel[]): unknown;
}

const FORMAT: Readonly<Record<Dialect, (models: readonly ListedModel[]) => unknown>> = {
  openai: (models) => ({ object: 'list', data: models.map((d) => ({ id: d.name, object: 'model', created: 0, owned_by: d.provider })) }),
  anthropic: (models) => {
    const data = models.map((d) => ({ type: 'model', id: d.name, display_name: d.name, created_at: EPOCH }));
    return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
  },
};

export const models: ModelsSpec = {
  routes: new Map<string, Dialect>([
    ['/openai/v1/models', 'openai'],
    ['/anthropic/v1/models', 'anthropic'],
  ]),
  body: (dialect, list) => FORMAT[dialect](list),
};
