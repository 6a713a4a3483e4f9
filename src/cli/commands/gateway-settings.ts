import { Option, type Command } from 'commander';
import type { GatewayView, ProjectLimitView } from '../../controlplane/api-types.js';
import { QUOTA_PERIODS, type LimitValues } from '../../domain/model.js';
import { collect, orNull, tokensOrNone } from './common.js';

/** The flags of a gateway's default project limit and CORS origins (create and update). */
export interface GatewaySettingFlags {
  defaultTpm?: number | 'none';
  defaultQuota?: number | 'none';
  defaultQuotaPeriod?: string;
  /** false when --no-default-limit is given. */
  defaultLimit?: boolean;
  corsOrigin?: string[];
  /** false when --no-cors is given. */
  cors?: boolean;
}

export function addGatewaySettingOptions(cmd: Command): Command {
  return cmd
    .option('--default-tpm <n|none>', 'default limit of projects without a project-wide limit of their own: tokens per minute', tokensOrNone('--default-tpm'))
    .option('--default-quota <n|none>', 'default limit: tokens per quota period (none clears the period too)', tokensOrNone('--default-quota'))
    .addOption(new Option('--default-quota-period <period|none>', 'default limit: the quota period').choices([...QUOTA_PERIODS, 'none']))
    .option('--no-default-limit', 'remove the default project limit')
    .option('--cors-origin <origin>', 'a browser origin allowed to call the data plane, e.g. https://app.example.com (repeat for more; replaces the list)', collect)
    .option('--no-cors', 'allow no browser origin (CORS off)');
}

/**
 * The API fields the flags set: `defaultProjectLimit` as a merge patch (the flags given replace
 * their values, the others stay), `corsOrigins` as the whole list.
 */
export function gatewaySettingsOf(flags: GatewaySettingFlags): { defaultProjectLimit?: Partial<LimitValues> | null; corsOrigins?: string[] } {
  const values = Object.fromEntries(
    Object.entries({
      tokensPerMinute: orNull(flags.defaultTpm),
      tokenQuota: orNull(flags.defaultQuota),
      quotaPeriod: orNull(flags.defaultQuotaPeriod),
    }).filter(([, v]) => v !== undefined),
  ) as Partial<LimitValues>;
  const settings: { defaultProjectLimit?: Partial<LimitValues> | null; corsOrigins?: string[] } = {};
  if (flags.defaultLimit === false) {
    if (Object.keys(values).length > 0) throw new Error('--no-default-limit removes the default limit: it cannot go with --default-tpm, --default-quota or --default-quota-period');
    settings.defaultProjectLimit = null;
  } else if (Object.keys(values).length > 0) {
    settings.defaultProjectLimit = values;
  }
  if (flags.cors === false) {
    if (flags.corsOrigin) throw new Error('--no-cors clears the origins: it cannot go with --cors-origin');
    settings.corsOrigins = [];
  } else if (flags.corsOrigin) {
    settings.corsOrigins = flags.corsOrigin;
  }
  return settings;
}

/** "2000 tokens/min, 50000 tokens daily" */
export function describeLimitValues(v: LimitValues): string {
  const parts: string[] = [];
  if (v.tokensPerMinute !== null) parts.push(`${v.tokensPerMinute} tokens/min`);
  if (v.tokenQuota !== null) parts.push(`${v.tokenQuota} tokens ${v.quotaPeriod ?? ''}`.trim());
  return parts.join(', ');
}

/** A project's standing on a gateway, for a table cell: "default: 2000 tokens/min", "own (lim_…): …", or nothing. */
export function describeProjectLimit(limit: ProjectLimitView | null): string | null {
  if (limit === null) return null;
  return limit.source === 'gateway-default' ? `default: ${describeLimitValues(limit)}` : `own (${limit.id}): ${describeLimitValues(limit)}`;
}

/** The settings of a gateway, one per line, for people. */
export function describeGatewaySettings(g: GatewayView): string {
  return [
    `gateway "${g.name}":`,
    `  content logging        ${g.logContent ? 'on' : 'off'}`,
    `  default project limit  ${g.defaultProjectLimit ? describeLimitValues(g.defaultProjectLimit) : 'none'}`,
    `  CORS origins           ${g.corsOrigins.length > 0 ? g.corsOrigins.join(', ') : 'none (browsers may not call)'}`,
  ].join('\n');
}
