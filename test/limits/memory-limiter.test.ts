import { MemoryLimiter } from '../../src/limits/memory-limiter.js';
import { limiterContract } from './limiter-contract.js';

limiterContract('MemoryLimiter', async (clock, options) => new MemoryLimiter({ clock, reservationTtlMs: options.reservationTtlMs }));
