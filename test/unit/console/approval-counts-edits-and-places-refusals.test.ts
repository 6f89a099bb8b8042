// The approval panel's own decisions: the text a reviewer edits for a thread, the count of a platform's text as it is
// typed (over the limit shown before sending), where each reason of an API refusal is shown, and how the live view
// reads the event stream it gets through fetch.
import { editableText, localCheck, placeReason } from '../../../src/console/components/approval-logic';
import { parseEvents } from '../../../src/console/pages/event-stream';

describe('editing a platform’s text', () => {
  it('offers a thread as one text without the numbering Herald adds, and a single post as it is', () => {
    expect(editableText(['1/3 First.', '2/3 Second.', '3/3 Third #tag'])).toBe('First.\n\nSecond.\n\nThird #tag');
    expect(editableText(['1/2 is how it starts'])).toBe('1/2 is how it starts');
  });

  it('counts the platform’s way and says by how much a post is over, except where a thread splits it', () => {
    const text = `${'a'.repeat(270)} 😀😀😀😀😀😀`; // 270 + 1 + 6 emoji weighing 2 each on X = 283
    expect(localCheck('x', text, 280, false)).toEqual({ count: 283, problem: 'x: 283 weighted characters, limit 280: 3 too many' });
    expect(localCheck('x', text, 280, true)).toEqual({ count: 283, problem: null });
    expect(localCheck('bluesky', text, 300, false)).toEqual({ count: 277, problem: null }); // graphemes
    expect(localCheck('x', '  padded  ', 280, false).count).toBe(6);
  });
});

describe('a refusal of the API', () => {
  it('is shown next to the platform text it names, else the body or the whole form', () => {
    expect(placeReason('x: 399 weighted characters, limit 280', { platforms: ['x'], body: false })).toBe('variants.x');
    expect(placeReason('x: the edited body does not fit (limit 280)', { platforms: [], body: true })).toBe('body');
    expect(placeReason('title: must not be empty', { platforms: ['x'], body: false })).toBe('title');
    expect(placeReason('something else entirely', { platforms: [], body: false })).toBe('form');
  });
});

describe('the event stream', () => {
  it('yields each complete event and keeps an unfinished one for the next chunk', () => {
    const seen: [string, string][] = [];
    const on = (event: string, data: string) => seen.push([event, data]);
    let rest = parseEvents('event: state\nid: 3\ndata: {"v":3}\n\n: keep-alive\n\nevent: state\r\ndata: {"v"', on);
    expect(seen).toEqual([['state', '{"v":3}']]);
    rest = parseEvents(`${rest}:4}\r\n\r\n`, on);
    expect(seen).toEqual([
      ['state', '{"v":3}'],
      ['state', '{"v":4}'],
    ]);
    expect(rest).toBe('');
  });
});
