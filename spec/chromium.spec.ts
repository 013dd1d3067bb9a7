import { describeWithChromium, launchChromium } from './support/chromium';
import { listen, echo, type Running } from './helpers';

describeWithChromium('Chromium (spec/support/chromium.ts)', () => {
  let running: Running;
  beforeAll(async () => {
    running = await listen({ '/echo': echo() });
  });
  afterAll(() => running.close());

  it('launches headless and reaches a server on 127.0.0.1', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const response = await page.goto(`${running.base}/echo`);
      expect(response?.status()).toBe(200);
      expect(await page.textContent('body')).toBe('Welcome to SockJS!\n');
    } finally {
      await browser.close();
    }
  });
});
