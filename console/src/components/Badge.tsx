type Tone = 'ok' | 'pending' | 'off' | 'warn' | 'error';

export function Badge({ tone, children }: { tone: Tone; children: string }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export function GatewayStatusBadge({ status }: { status: 'provisioning' | 'enabled' }) {
  return status === 'enabled' ? <Badge tone="ok">Enabled</Badge> : <Badge tone="pending">Provisioning</Badge>;
}

export function ProjectStatusBadge({ status }: { status: 'enabled' | 'disabled' }) {
  return status === 'enabled' ? <Badge tone="ok">Enabled</Badge> : <Badge tone="off">Disabled</Badge>;
}
