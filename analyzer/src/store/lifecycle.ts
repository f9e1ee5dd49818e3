/**
 * The finding lifecycle, as pure rules: open → acknowledged → resolved | dismissed, reopened on regression,
 * resolved by the analyzer when the condition has been gone for N cycles. The store applies what these decide.
 */

export const STATUSES = ['open', 'acknowledged', 'resolved', 'dismissed'] as const;
export type Status = (typeof STATUSES)[number];

/** What a person may do from each status. */
const ALLOWED: Readonly<Record<Status, readonly Status[]>> = {
  open: ['acknowledged', 'resolved', 'dismissed'],
  // Back to open: "I looked, but nobody is on it after all".
  acknowledged: ['open', 'resolved', 'dismissed'],
  resolved: ['open'],
  dismissed: ['open'],
};

export function allowedTransitions(from: Status): readonly Status[] {
  return ALLOWED[from];
}

export function canTransition(from: Status, to: Status): boolean {
  return ALLOWED[from].includes(to);
}

/** Still needs attention: counted in `hotpath.findings.open`, judged clean or not each cycle. */
export function isActive(status: Status): boolean {
  return status === 'open' || status === 'acknowledged';
}

export type CycleOutcome =
  /** Seen again while active: refresh the evidence, reset the clean-cycle count. */
  | { readonly action: 'update'; readonly status: Status; readonly cleanCycles: 0 }
  /** Seen again after it was resolved: a regression. */
  | { readonly action: 'reopen'; readonly status: 'open'; readonly cleanCycles: 0 }
  /** Seen again, but a person dismissed it: keep their decision, refresh the evidence. */
  | { readonly action: 'refresh'; readonly status: 'dismissed'; readonly cleanCycles: 0 }
  /** Not seen this cycle: one more clean cycle. */
  | { readonly action: 'clean'; readonly status: Status; readonly cleanCycles: number }
  /** Not seen for N cycles: the analyzer resolves it. */
  | { readonly action: 'auto-resolve'; readonly status: 'resolved'; readonly cleanCycles: number }
  /** Nothing to do (not active and not seen, or its source was not read this cycle). */
  | { readonly action: 'none' };

/**
 * What one cycle does to a stored finding. `covered` is false when the cycle did not look at the finding's
 * service or source (no data for it, or the app database not configured): absence of evidence is not a fix.
 */
export function cycleOutcome(
  stored: { readonly status: Status; readonly cleanCycles: number },
  seen: boolean,
  covered: boolean,
  autoResolveAfter: number,
): CycleOutcome {
  if (seen) {
    if (stored.status === 'resolved') return { action: 'reopen', status: 'open', cleanCycles: 0 };
    if (stored.status === 'dismissed') return { action: 'refresh', status: 'dismissed', cleanCycles: 0 };
    return { action: 'update', status: stored.status, cleanCycles: 0 };
  }
  if (!covered || !isActive(stored.status)) return { action: 'none' };
  const cleanCycles = stored.cleanCycles + 1;
  return cleanCycles >= autoResolveAfter
    ? { action: 'auto-resolve', status: 'resolved', cleanCycles }
    : { action: 'clean', status: stored.status, cleanCycles };
}
