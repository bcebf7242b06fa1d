import type { TestProject } from 'vitest/node';
import { startWsEcho } from '../support/servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    wsEchoUrl: string;
  }
}

/** Real servers for the browser tests, on ephemeral ports, handed to the page by `inject`. */
export async function setup(project: TestProject): Promise<() => Promise<void>> {
  const echo = await startWsEcho();
  project.provide('wsEchoUrl', echo.url);
  return () => echo.close();
}
