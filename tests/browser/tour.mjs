// Visit every page the signed-in user's navigation offers and screenshot it (no errors allowed).
import { env, run } from './lib.mjs';

run(env('TOUR_NAME', 'tour'), async (s) => {
  const { page } = s;
  await s.login(env('TOUR_USER'), env('TOUR_PASSWORD'));
  const links = await page.locator('nav.nav a').evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.textContent]));
  const visited = [];
  for (const [href, label] of links) {
    await page.locator(`nav.nav a[href="${href}"]`).click();
    await s.settled(href.replace(/^#\//, ''));
    const error = await page.locator('main .notice.error').allInnerTexts();
    if (error.length) throw new Error(`${label}: ${error.join(' / ')}`);
    await s.shot(href.replace(/[#/]+/g, '-').replace(/^-|-$/g, ''));
    visited.push(label);
  }
  return { visited };
});
