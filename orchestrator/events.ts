// The engine never prints: it emits these typed events, and reporters subscribe.
import { EventEmitter } from 'node:events';

export type StageName = 'plan' | 'host' | 'source' | 'series' | 'kconfig' | 'build' | 'guest' | 'vm' | 'results' | 'report';

export type RunEvent =
  | { type: 'stage-start'; stage: StageName; detail?: string }
  | { type: 'stage-end'; stage: StageName; status: 'ok' | 'failed' | 'skipped' | 'cached'; elapsedMs: number; detail?: string }
  | { type: 'info'; stage: StageName; message: string }
  | { type: 'warn'; stage: StageName; message: string }
  | { type: 'progress'; stage: StageName; step: string; done: number; total?: number; etaSec?: number }
  | { type: 'log-line'; stage: StageName; line: string }
  | { type: 'console-line'; line: string }
  | { type: 'test-start'; name: string }
  | { type: 'test-end'; name: string; exitCode: number }
  /** A line a guest test printed, as it arrives (vm-test exec streams these). */
  | { type: 'guest-output'; name: string; stream: 'stdout' | 'stderr'; line: string };

export class RunEvents {
  readonly #emitter = new EventEmitter();

  emit(event: RunEvent): void {
    this.#emitter.emit('event', event);
  }

  subscribe(listener: (event: RunEvent) => void): () => void {
    this.#emitter.on('event', listener);
    return () => this.#emitter.off('event', listener);
  }
}
