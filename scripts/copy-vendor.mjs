// Copies the browser files of our npm packages to static/vendor/, served by whitenoise.
// Nothing is fetched from a CDN at run time.
import { copyFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";

const files = {
  "htmx.min.js": "htmx.org/dist/htmx.min.js",
  "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
  "fullcalendar.min.js": "fullcalendar/index.global.min.js",
  "fullcalendar-locales.min.js": "@fullcalendar/core/locales-all.global.min.js",
  "pico.min.css": "@picocss/pico/css/pico.min.css",
  "axe.min.js": "axe-core/axe.min.js",
  // The opt-in form's proof of work. The "external" build starts its workers from our own files (the
  // default build makes them from blob: URLs, which the CSP's script-src 'self' refuses).
  "altcha/altcha.min.js": "altcha/dist/external/altcha.umd.min.cjs",
  "altcha/altcha-fr.js": "altcha/dist/i18n/fr-fr.umd.cjs",
  "altcha/pbkdf2-worker.js": "altcha/dist/workers/pbkdf2.js",
};

const out = "static/vendor";
mkdirSync(out, { recursive: true });
for (const [target, source] of Object.entries(files)) {
  const from = join("node_modules", source);
  if (!existsSync(from)) {
    console.error(`missing ${from}: run npm ci first`);
    process.exit(1);
  }
  mkdirSync(dirname(join(out, target)), { recursive: true });
  copyFileSync(from, join(out, target));
}
console.log(`copied ${Object.keys(files).length} files to ${out}`);
