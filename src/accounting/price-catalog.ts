import type { Pricing } from './pricing.js';

/**
 * A few well-known public list prices, per million tokens in USD, as published on the providers'
 * pricing pages on the date below. Used only when an admin asks for them (`"pricing": "catalog"`):
 * the prices are then copied into the deployment, so they never change under it, and nothing is
 * fetched at run time. Prices change and contracts differ: set your own where they do.
 */
export const PRICE_CATALOG_AS_OF = '2025-06-01';

type CatalogPrices = Omit<Pricing, 'currency' | 'source'>;

const USD: Readonly<Record<string, CatalogPrices>> = {
  'gpt-4o': { inputPerMillion: '2.5', cachedInputPerMillion: '1.25', outputPerMillion: '10' },
  'gpt-4o-mini': { inputPerMillion: '0.15', cachedInputPerMillion: '0.075', outputPerMillion: '0.6' },
  'gpt-4.1': { inputPerMillion: '2', cachedInputPerMillion: '0.5', outputPerMillion: '8' },
  'gpt-4.1-mini': { inputPerMillion: '0.4', cachedInputPerMillion: '0.1', outputPerMillion: '1.6' },
  'gpt-4.1-nano': { inputPerMillion: '0.1', cachedInputPerMillion: '0.025', outputPerMillion: '0.4' },
  o3: { inputPerMillion: '2', cachedInputPerMillion: '0.5', outputPerMillion: '8' },
  'o4-mini': { inputPerMillion: '1.1', cachedInputPerMillion: '0.275', outputPerMillion: '4.4' },
  'text-embedding-3-small': { inputPerMillion: '0.02', outputPerMillion: '0' },
  'text-embedding-3-large': { inputPerMillion: '0.13', outputPerMillion: '0' },
  'claude-opus-4': { inputPerMillion: '15', cachedInputPerMillion: '1.5', cacheWritePerMillion: '18.75', outputPerMillion: '75' },
  'claude-sonnet-4': { inputPerMillion: '3', cachedInputPerMillion: '0.3', cacheWritePerMillion: '3.75', outputPerMillion: '15' },
  'claude-3-5-haiku': { inputPerMillion: '0.8', cachedInputPerMillion: '0.08', cacheWritePerMillion: '1', outputPerMillion: '4' },
};

/** Catalog model names, longest first: a dated model name (`gpt-4o-2024-08-06`) takes its family's prices. */
const NAMES = Object.keys(USD).sort((a, b) => b.length - a.length);

/** The catalog's pricing for an upstream model name (exact, or its dated or suffixed variant); null when unknown. */
export function catalogPricing(model: string): Pricing | null {
  const name = NAMES.find((n) => model === n || model.startsWith(`${n}-`));
  if (!name) return null;
  return { currency: 'USD', ...USD[name]!, source: `catalog ${name} ${PRICE_CATALOG_AS_OF}` };
}

/** The catalog's model names, for error messages. */
export const catalogModels = (): readonly string[] => Object.keys(USD);
