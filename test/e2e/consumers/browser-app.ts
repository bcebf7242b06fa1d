// A browser app as a bundler user writes it: bundled by esbuild from the package made by
// `npm pack`, loaded in Chromium by test/e2e/consumers.test.ts against a sockline server.
import { connect } from 'sockline';

declare global {
  interface Window {
    result: Promise<{ sum: number; news: unknown }>;
  }
}

window.result = (async () => {
  const client = connect(`ws://${location.host}/`, { reconnect: { maxRetries: 3 } });
  const news = new Promise((resolve) => client.subscribe('news/today', resolve));
  const sum = await client.request<number>('sum', [1, 2, 3]);
  client.publish('news/today', { headline: 'from the browser' });
  return { sum, news: await news };
})();
