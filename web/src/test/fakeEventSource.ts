import { act } from "@testing-library/react";

/** A stand-in for the browser's EventSource (jsdom has none): the test pushes the server's events. */
export class FakeEventSource {
  static last: FakeEventSource | null = null;
  static readonly CLOSED = 2;
  readonly url: string;
  closed = false;
  private listeners: Record<string, ((e: Event) => void)[]> = {};
  constructor(url: string) {
    this.url = url;
    FakeEventSource.last = this;
  }
  addEventListener(type: string, listener: (e: Event) => void) {
    (this.listeners[type] ??= []).push(listener);
  }
  close() {
    this.closed = true;
  }
  emit(type: string, data?: unknown) {
    act(() => {
      for (const listener of this.listeners[type] ?? []) listener(new MessageEvent(type, { data: JSON.stringify(data) }));
    });
  }
}
