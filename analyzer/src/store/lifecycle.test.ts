import { describe, expect, it } from 'vitest';
import { allowedTransitions, canTransition, cycleOutcome } from './lifecycle.ts';

describe('lifecycle transitions', () => {
  it('lets a person acknowledge, resolve or dismiss an open finding', () => {
    expect(allowedTransitions('open')).toEqual(['acknowledged', 'resolved', 'dismissed']);
  });

  it('reopens resolved and dismissed findings, and nothing else from there', () => {
    expect(allowedTransitions('resolved')).toEqual(['open']);
    expect(allowedTransitions('dismissed')).toEqual(['open']);
    expect(canTransition('resolved', 'acknowledged')).toBe(false);
    expect(canTransition('dismissed', 'resolved')).toBe(false);
  });

  it('never allows a transition to the same status', () => {
    for (const s of ['open', 'acknowledged', 'resolved', 'dismissed'] as const)
      expect(canTransition(s, s)).toBe(false);
  });
});

describe('cycle outcome', () => {
  it('refreshes an active finding that is seen again and resets its clean cycles', () => {
    expect(cycleOutcome({ status: 'acknowledged', cleanCycles: 2 }, true, true, 3)).toEqual({
      action: 'update',
      status: 'acknowledged',
      cleanCycles: 0,
    });
  });

  it('reopens a resolved finding that is seen again (a regression)', () => {
    expect(cycleOutcome({ status: 'resolved', cleanCycles: 3 }, true, true, 3).action).toBe('reopen');
  });

  it('keeps a dismissed finding dismissed when it is seen again', () => {
    expect(cycleOutcome({ status: 'dismissed', cleanCycles: 0 }, true, true, 3)).toMatchObject({
      action: 'refresh',
      status: 'dismissed',
    });
  });

  it('counts clean cycles and auto-resolves at the N-th', () => {
    expect(cycleOutcome({ status: 'open', cleanCycles: 1 }, false, true, 3)).toEqual({
      action: 'clean',
      status: 'open',
      cleanCycles: 2,
    });
    expect(cycleOutcome({ status: 'open', cleanCycles: 2 }, false, true, 3)).toEqual({
      action: 'auto-resolve',
      status: 'resolved',
      cleanCycles: 3,
    });
  });

  it('does not count a cycle that did not look at the finding’s service or source', () => {
    expect(cycleOutcome({ status: 'open', cleanCycles: 2 }, false, false, 3).action).toBe('none');
  });

  it('leaves resolved and dismissed findings alone when they stay away', () => {
    expect(cycleOutcome({ status: 'resolved', cleanCycles: 3 }, false, true, 3).action).toBe('none');
    expect(cycleOutcome({ status: 'dismissed', cleanCycles: 0 }, false, true, 3).action).toBe('none');
  });
});
