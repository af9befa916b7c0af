import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../src/common/seededRandom.js';
import { EventQueue } from '../../src/simulator/eventQueue.js';

describe('event queue', () => {
  it('pops events in time order with their kind and id, through growth and interleaved pushes', () => {
    const queue = new EventQueue(4);
    const random = seededRandom(9);
    const pending: [number, number, number][] = [];
    const popped: [number, number, number][] = [];
    for (let round = 0; round < 2000; round++) {
      if (queue.size === 0 || random() < 0.6) {
        const event: [number, number, number] = [Math.floor(random() * 1000) / 10, round % 4, round];
        pending.push(event);
        queue.push(...event);
      } else {
        queue.pop();
        popped.push([queue.time, queue.kind, queue.id]);
        const earliest = Math.min(...pending.map((e) => e[0]));
        assert.equal(queue.time, earliest);
        pending.splice(
          pending.findIndex((e) => e[2] === queue.id),
          1,
        );
      }
    }
    while (queue.size > 0) {
      const before = queue.nextTime;
      queue.pop();
      assert.equal(queue.time, before);
      popped.push([queue.time, queue.kind, queue.id]);
    }
    for (const [time, kind, id] of popped) assert.equal(kind, id % 4, `event ${id} at ${time} kept its kind`);
    assert.equal(queue.nextTime, Number.POSITIVE_INFINITY);
  });
});
