/** Milliseconds since the epoch. Injected so windows and periods can be tested at any instant. */
export type Clock = () => number;

export const systemClock: Clock = Date.now;
