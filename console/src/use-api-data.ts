import { useCallback, useEffect, useState } from 'react';
import { useSession } from './session';

export interface ApiData<T> {
  /** The last answer for this path; undefined until the first one arrives. */
  data: T | undefined;
  /** The last failure, cleared by the next success. */
  error: Error | null;
  reload(): void;
  /** Shows an answer obtained otherwise (e.g. what a PATCH returned) without fetching again. */
  replace(data: T): void;
}

interface Loaded<T> {
  path: string;
  data: T | undefined;
  error: Error | null;
}

/** How often to fetch again: a fixed period, none (null), or decided by the last answer. */
export type Refresh<T> = number | null | ((data: T | undefined) => number | null);

/**
 * GETs an admin API path, again whenever the path changes, on reload(), and every `refresh` ms
 * while set (a refresh keeps showing the previous answer until the new one arrives). A null path
 * fetches nothing.
 */
export function useApiData<T>(path: string | null, refresh: Refresh<T> = null, options: { keepPrevious?: boolean } = {}): ApiData<T> {
  const { api } = useSession();
  const [loaded, setLoaded] = useState<Loaded<T> | null>(null);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    api.get<T>(path, controller.signal).then(
      (data) => setLoaded({ path, data, error: null }),
      (err: unknown) => {
        if (controller.signal.aborted) return;
        const error = err instanceof Error ? err : new Error(String(err));
        setLoaded((previous) => ({ path, data: previous?.path === path ? previous.data : undefined, error }));
      },
    );
    return () => controller.abort();
  }, [api, path, generation]);

  const current = loaded?.path === path ? loaded : null;
  const refreshMs = typeof refresh === 'function' ? refresh(current?.data) : refresh;
  // Counted from the last answer, so a slow answer is never cut short by the next refresh.
  useEffect(() => {
    if (path === null || refreshMs === null || current === null) return;
    const timer = window.setTimeout(() => setGeneration((g) => g + 1), refreshMs);
    return () => window.clearTimeout(timer);
  }, [path, refreshMs, current]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const replace = useCallback((data: T) => path !== null && setLoaded({ path, data, error: null }), [path]);
  // keepPrevious: while a new path loads, keep showing the last answer (a moving time window).
  const shown = current ?? (options.keepPrevious ? loaded : null);
  return { data: shown?.data, error: current?.error ?? null, reload, replace };
}
