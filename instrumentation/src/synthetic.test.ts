import { describe, expect, it } from 'vitest';
import { SYNTHETIC_HEADERS } from '../../k6/lib/visit.ts';
import { syntheticAttributes } from './synthetic.ts';

describe('load-test requests, told from users', () => {
  it('marks a request with the baggage k6 and the local driver send, among other entries too', () => {
    expect(syntheticAttributes({ baggage: SYNTHETIC_HEADERS.baggage })).toEqual({
      'hotpath.synthetic': true,
    });
    expect(syntheticAttributes({ baggage: 'userId=alice, hotpath.synthetic=true;ttl=5' })).toEqual({
      'hotpath.synthetic': true,
    });
  });

  it('leaves users alone: no baggage, another value, or baggage that does not parse', () => {
    expect(syntheticAttributes({})).toEqual({});
    expect(syntheticAttributes({ baggage: 'hotpath.synthetic=false' })).toEqual({});
    expect(syntheticAttributes({ baggage: '=;;,,%%%' })).toEqual({});
    // The header alone is a hint for people reading logs, not the marker.
    expect(syntheticAttributes({ 'x-hotpath-synthetic': 'load-test' })).toEqual({});
  });
});
