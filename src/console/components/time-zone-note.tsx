import { offsetAt, userTimeZone } from '../time';

/** Which zone the times on the page are in, so "14:30" is never ambiguous. */
export function TimeZoneNote({ at }: { at?: Date }) {
  return (
    <span class="time-zone" data-testid="time-zone">
      Times are in your time zone: {userTimeZone()} (UTC{offsetAt(at ?? new Date())})
    </span>
  );
}
