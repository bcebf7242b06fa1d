import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';
import { chromiumLaunchOptions } from './test/support/chromium.js';
import { SummaryReporter } from './test/support/summary-reporter.js';
import {
  dropContractConnections,
  dropProtocolConnections,
  lifecycleFault,
  lifecycleStats,
  protocolReceived,
  restartServe,
  startWsServer,
  stopWsServer,
  tcpPublish,
  tcpReceived,
  unusedWsUrl,
} from './test/browser/commands.js';

export default defineConfig({
  test: {
    reporters: ['default', new SummaryReporter()],
    projects: [
      {
        test: {
          name: 'node',
          include: [
            'test/core/**/*.test.ts',
            'test/node/**/*.test.ts',
            'test/contract/**/*.test.ts',
            'test/reliability/**/*.test.ts',
          ],
          environment: 'node',
          setupFiles: ['test/support/tripwire.ts'],
          testTimeout: 20_000,
        },
      },
      {
        // Real nginx, HAProxy and redis-server, floods of thousands of sockets: one file at a
        // time, after the other projects, so their timing does not compete with anything.
        test: {
          name: 'deploy',
          include: ['test/deploy/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/support/tripwire.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/browser/global-setup.ts'],
          testTimeout: 20_000,
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({ launchOptions: chromiumLaunchOptions }),
            instances: [{ browser: 'chromium' }],
            commands: {
              stopWsServer,
              startWsServer,
              dropProtocolConnections,
              protocolReceived,
              tcpPublish,
              tcpReceived,
              dropContractConnections,
              unusedWsUrl,
              lifecycleStats,
              lifecycleFault,
              restartServe,
            },
          },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          setupFiles: ['test/support/tripwire.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
