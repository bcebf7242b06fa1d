import { describe, expect, it } from 'vitest';
import { Emitter, GuardedEmitter, SmallEmitter } from '../../src/core/emitter.js';
import type { SocklineError } from '../../src/core/errors.js';

interface Events {
  a: (n: number) => void;
  b: (x: string, y: string) => void;
  error: (e: SocklineError) => void;
}

class Source extends Emitter<Events> {
  fire<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    this.emit(event, ...args);
  }
}

class Guarded extends GuardedEmitter<Events> {
  fire<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    this.emit(event, ...args);
  }
}

class Small extends SmallEmitter<Events> {
  fire<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    this.emit(event, ...args);
  }
}

describe.each([
  ['Emitter', Source],
  ['SmallEmitter', Small],
])('%s', (_, Source) => {
  it('calls the listeners of an event in the order they were added, with every argument', () => {
    const e = new Source();
    const calls: string[] = [];
    e.on('b', (x, y) => calls.push(`1${x}${y}`));
    e.on('a', (n) => calls.push(`a${n}`));
    e.on('b', (x, y) => calls.push(`2${x}${y}`));
    e.on('b', (x, y) => calls.push(`3${x}${y}`));
    e.fire('b', 'x', 'y');
    e.fire('a', 7);
    expect(calls).toEqual(['1xy', '2xy', '3xy', 'a7']);
    expect(e.listenerCount('b')).toBe(3);
    expect(e.listenerCount('a')).toBe(1);
    expect(e.listenerCount('error')).toBe(0);
  });

  it('removes a listener through its disposer or off(), once, leaving the others', () => {
    const e = new Source();
    const calls: number[] = [];
    const one = (n: number): void => void calls.push(1 * n);
    const two = (n: number): void => void calls.push(2 * n);
    const three = (n: number): void => void calls.push(3 * n);
    const offOne = e.on('a', one);
    e.on('a', two);
    e.on('a', three);
    offOne();
    offOne();
    e.fire('a', 1);
    e.off('a', three);
    e.off('a', three);
    e.fire('a', 10);
    e.off('a', two);
    e.fire('a', 100);
    expect(calls).toEqual([2, 3, 20]);
    expect(e.listenerCount('a')).toBe(0);
  });

  it('keeps a listener added twice until it is removed twice', () => {
    const e = new Source();
    let calls = 0;
    const f = (): void => void calls++;
    e.on('a', f);
    e.on('a', f);
    e.fire('a', 0);
    e.off('a', f);
    e.fire('a', 0);
    e.off('a', f);
    e.fire('a', 0);
    expect(calls).toBe(3);
  });

  it('calls a once() listener one time', () => {
    const e = new Source();
    const got: number[] = [];
    e.once('a', (n) => got.push(n));
    e.fire('a', 1);
    e.fire('a', 2);
    expect(got).toEqual([1]);
    expect(e.listenerCount('a')).toBe(0);
  });

  it('delivers an event to the listeners it had when it was emitted', () => {
    const e = new Source();
    const calls: string[] = [];
    const late = (): void => void calls.push('late');
    const second = (): void => void calls.push('second');
    e.on('a', () => {
      calls.push('first');
      e.off('a', second);
      e.on('a', late);
    });
    e.on('a', second);
    e.fire('a', 0);
    expect(calls).toEqual(['first', 'second']);
    calls.length = 0;
    e.fire('a', 0); // adds `late` again, after the one this event is delivered to
    expect(calls).toEqual(['first', 'late']);
    calls.length = 0;
    e.fire('a', 0);
    expect(calls).toEqual(['first', 'late', 'late']);
  });

  it('removes every listener of one event, or of all', () => {
    const e = new Source();
    let calls = 0;
    e.on('a', () => calls++);
    e.on('b', () => calls++);
    e.on('b', () => calls++);
    e.removeAllListeners('b');
    e.fire('b', '', '');
    e.fire('a', 0);
    expect(calls).toBe(1);
    e.on('b', () => calls++);
    e.removeAllListeners();
    e.fire('a', 0);
    e.fire('b', '', '');
    expect(calls).toBe(1);
    expect(e.listenerCount('a') + e.listenerCount('b')).toBe(0);
  });
});

describe('Emitter', () => {
  it('lets what a listener throws reach the emitter, skipping the listeners after it', () => {
    const e = new Source();
    let after = false;
    e.on('a', () => {
      throw new Error('boom');
    });
    e.on('a', () => void (after = true));
    expect(() => e.fire('a', 0)).toThrow('boom');
    expect(after).toBe(false);
  });
});

describe.each([
  ['GuardedEmitter', Guarded],
  ['SmallEmitter', Small],
])('%s', (_, Guarded) => {
  it('reports a throwing listener as ERR_CALLBACK and still runs the others', () => {
    const e = new Guarded();
    const errors: SocklineError[] = [];
    let after = false;
    e.on('error', (err) => errors.push(err));
    e.on('a', () => {
      throw new Error('boom');
    });
    e.on('a', () => void (after = true));
    e.fire('a', 0);
    expect(after).toBe(true);
    expect(errors.map((x) => x.code)).toEqual(['ERR_CALLBACK']);
    expect((errors[0]!.cause as Error).message).toBe('boom');
  });
});
