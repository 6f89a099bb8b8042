// The plan page's week calendar: which local day a post falls on, in the person's own time zone, across
// daylight-saving changes. Expected instants are written out by hand from the zones' published rules.
import {
  addDays,
  bucketWeek,
  fromInputValue,
  startOfDay,
  toInputValue,
  toZonedIso,
  wallTimeToInstant,
  weekOf,
} from '../../../src/console/pages/week';

const at = (iso: string) => Date.parse(iso);
const post = (id: string, publishAt: string) => ({ id, publishAt });
const days = (week: ReturnType<typeof bucketWeek>) => week.map((d) => [d.date, d.items.map((i) => `${i.item.id}@${i.time}`)]);

describe('week calendar', () => {
  test('a week is Monday to Sunday in the zone, whatever day of the week it is in UTC', () => {
    // Sunday 2026-12-06 23:30 UTC is already Monday 2026-12-07 in Auckland (+13) and still Sunday in New York.
    expect(weekOf(at('2026-12-06T23:30:00Z'), 'UTC')).toBe('2026-11-30');
    expect(weekOf(at('2026-12-06T23:30:00Z'), 'Pacific/Auckland')).toBe('2026-12-07');
    expect(weekOf(at('2026-12-06T23:30:00Z'), 'America/New_York')).toBe('2026-11-30');
  });

  test('the same instant lands on the day a person in each zone would say', () => {
    const items = [post('p1', '2026-12-03T23:30:00Z')];
    const place = (tz: string) => bucketWeek(items, '2026-11-30', tz).flatMap((d) => d.items.map((i) => `${d.date} ${i.time}`));
    expect(place('Europe/Berlin')).toEqual(['2026-12-04 00:30']);
    expect(place('America/New_York')).toEqual(['2026-12-03 18:30']);
    expect(place('Asia/Tokyo')).toEqual(['2026-12-04 08:30']);
    expect(place('Asia/Kolkata')).toEqual(['2026-12-04 05:00']);
    expect(place('Pacific/Honolulu')).toEqual(['2026-12-03 13:30']);
  });

  test('the spring-forward day has 23 hours and a post just after its midnight goes to the next week', () => {
    // Berlin moves from +01:00 to +02:00 at 01:00 UTC on Sunday 2026-03-29.
    const week = bucketWeek(
      [
        post('sunday-late', '2026-03-29T21:59:00Z'), // 23:59 CEST
        post('next-monday', '2026-03-29T22:30:00Z'), // Monday 00:30 CEST
        post('before-jump', '2026-03-29T00:59:00Z'), // 01:59 CET
        post('after-jump', '2026-03-29T01:00:00Z'), // 03:00 CEST
        post('saturday', '2026-03-28T22:59:00Z'), // Saturday 23:59 CET
      ],
      '2026-03-23',
      'Europe/Berlin',
    );
    const sunday = week[6];
    expect(sunday.date).toBe('2026-03-29');
    expect(sunday.start).toBe(at('2026-03-28T23:00:00Z'));
    expect(sunday.end).toBe(at('2026-03-29T22:00:00Z'));
    expect(sunday.end - sunday.start).toBe(23 * 3600_000);
    expect(days(week)).toEqual([
      ['2026-03-23', []],
      ['2026-03-24', []],
      ['2026-03-25', []],
      ['2026-03-26', []],
      ['2026-03-27', []],
      ['2026-03-28', ['saturday@23:59']],
      ['2026-03-29', ['before-jump@01:59', 'after-jump@03:00', 'sunday-late@23:59']],
    ]);
    expect(days(bucketWeek([post('next-monday', '2026-03-29T22:30:00Z')], addDays('2026-03-23', 7), 'Europe/Berlin'))[0]).toEqual([
      '2026-03-30',
      ['next-monday@00:30'],
    ]);
  });

  test('the fall-back day has 25 hours and holds both 02:30s, earliest first', () => {
    // Berlin moves from +02:00 back to +01:00 at 01:00 UTC on Sunday 2026-10-25: 02:30 happens twice.
    const week = bucketWeek([post('second', '2026-10-25T01:30:00Z'), post('first', '2026-10-25T00:30:00Z')], '2026-10-19', 'Europe/Berlin');
    expect(week[6].start).toBe(at('2026-10-24T22:00:00Z'));
    expect(week[6].end).toBe(at('2026-10-25T23:00:00Z'));
    expect(week[6].items.map((i) => `${i.item.id}@${i.time}`)).toEqual(['first@02:30', 'second@02:30']);
  });

  test('New York: a Sunday-evening post after the March change stays on Sunday', () => {
    // 2026-03-08: New York goes from -05:00 to -04:00; 2026-03-09 03:30 UTC is Sunday 23:30 EDT.
    const week = bucketWeek([post('p', '2026-03-09T03:30:00Z')], '2026-03-02', 'America/New_York');
    expect(week[6].items.map((i) => i.time)).toEqual(['23:30']);
    expect(week[6].start).toBe(at('2026-03-08T05:00:00Z'));
    expect(week[6].end).toBe(at('2026-03-09T04:00:00Z'));
  });

  test('a day whose midnight is skipped starts when the clocks jump', () => {
    // Cuba springs forward at 00:00 local (-05:00 → -04:00) on Sunday 2026-03-08: that day starts at 01:00.
    expect(startOfDay('2026-03-08', 'America/Havana')).toBe(at('2026-03-08T05:00:00Z'));
    expect(startOfDay('2026-03-09', 'America/Havana')).toBe(at('2026-03-09T04:00:00Z'));
  });

  test('posts outside the week, and unreadable times, are left out', () => {
    const week = bucketWeek([post('before', '2026-11-29T22:59:59Z'), post('bad', 'not a time'), post('in', '2026-11-29T23:00:00Z')], '2026-11-30', 'Europe/Berlin');
    expect(week.flatMap((d) => d.items.map((i) => i.item.id))).toEqual(['in']);
  });

  test('moving by weeks is calendar arithmetic across months, years and leap days', () => {
    expect(addDays('2026-12-28', 7)).toBe('2027-01-04');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2026-03-02', -7)).toBe('2026-02-23');
  });
});

describe('choosing a new publish time', () => {
  test('a typed wall time is sent with the zone offset in force that day', () => {
    expect(fromInputValue('2026-07-01T09:00', 'Europe/Berlin')).toMatchObject({ iso: '2026-07-01T09:00:00+02:00', skipped: false, ambiguous: false });
    expect(fromInputValue('2026-12-01T09:00', 'Europe/Berlin')?.iso).toBe('2026-12-01T09:00:00+01:00');
    expect(fromInputValue('2026-12-01T09:00', 'Asia/Kolkata')?.iso).toBe('2026-12-01T09:00:00+05:30');
    expect(fromInputValue('2026-12-01T09:00', 'America/St_Johns')?.iso).toBe('2026-12-01T09:00:00-03:30');
    expect(Date.parse(fromInputValue('2026-12-01T09:00', 'America/Los_Angeles')!.iso)).toBe(at('2026-12-01T17:00:00Z'));
  });

  test('a time the clocks skip becomes the moment they jump to, and says so', () => {
    const gap = fromInputValue('2026-03-29T02:30', 'Europe/Berlin');
    expect(gap).toMatchObject({ skipped: true, iso: '2026-03-29T03:00:00+02:00' });
    expect(gap!.instant).toBe(at('2026-03-29T01:00:00Z'));
  });

  test('a time that happens twice is the first of the two, and says so', () => {
    const twice = wallTimeToInstant('2026-10-25', 2, 30, 'Europe/Berlin');
    expect(twice).toEqual({ instant: at('2026-10-25T00:30:00Z'), skipped: false, ambiguous: true });
  });

  test('what is not a date and time is refused', () => {
    expect(fromInputValue('', 'UTC')).toBeNull();
    expect(fromInputValue('2026-02-30T09:00', 'UTC')).toBeNull();
    expect(fromInputValue('2026-02-10T24:00', 'UTC')).toBeNull();
    expect(fromInputValue('tomorrow', 'UTC')).toBeNull();
  });

  test('an instant is shown in the input as the zone wall time', () => {
    expect(toInputValue(at('2026-03-29T01:00:00Z'), 'Europe/Berlin')).toBe('2026-03-29T03:00');
    expect(toZonedIso(at('2026-03-29T00:59:00Z'), 'Europe/Berlin')).toBe('2026-03-29T01:59:00+01:00');
  });
});
