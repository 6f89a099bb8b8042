// Title cards are drawn a few at a time per process; the others wait their turn. A card asked for by the main lane
// (another tenant's pipeline) waits ahead of the bulk lane's (a tenant's burst past its share, src/worker/lanes.ts):
// it is drawn before bulk-lane cards that were waiting before it.
import { CARDS_AT_ONCE, renderCard } from '../../../../src/providers/images/card';
import { bulkLane } from '../../../../src/worker/lane-context';

it("a main-lane card goes ahead of the bulk lane's waiting cards", async () => {
  const done: string[] = [];
  const card = (name: string, bulk: boolean) => {
    const draw = () => renderCard({ title: `Card ${name}`, subtitle: 'lanes', width: 600, height: 315 }).then(() => void done.push(name));
    return bulk ? bulkLane.run({ turn: () => undefined }, draw) : draw();
  };
  const cards: Promise<void>[] = [];
  // Every turn taken by the burst, and more of its cards waiting...
  for (let i = 0; i < CARDS_AT_ONCE; i++) cards.push(card(`bulk-drawing-${i}`, true));
  for (let i = 0; i < 3; i++) cards.push(card(`bulk-waiting-${i}`, true));
  // ...then the other tenant's card.
  cards.push(card('main', false));
  await Promise.all(cards);

  // It takes the first turn that frees up: drawn before the bulk cards that waited since before it (with one lane,
  // first come first served, it would be last).
  expect(done.indexOf('main')).toBeLessThan(done.indexOf('bulk-waiting-1'));
  expect(done.indexOf('main')).toBeLessThan(done.indexOf('bulk-waiting-2'));
  expect(done.at(-1)).not.toBe('main');
}, 60_000);
