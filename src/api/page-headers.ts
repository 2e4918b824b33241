import type { secureHeaders } from 'hono/secure-headers';

/**
 * Headers on every answer (pages, files and API alike): the pages load only their own scripts,
 * styles and connections, nothing may frame them (the dashboard asks for the API key), and no
 * file is sniffed into another type. Kept in one place: docs/security.md quotes it.
 */
export const PAGE_HEADERS: Parameters<typeof secureHeaders>[0] = {
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: 'DENY',
  xContentTypeOptions: true,
  referrerPolicy: 'no-referrer',
  // Not ours to decide for the deployment: HSTS belongs to the TLS terminator; the SDK and pages
  // may be loaded across origins on purpose.
  strictTransportSecurity: false,
  crossOriginResourcePolicy: false,
  crossOriginOpenerPolicy: false,
  crossOriginEmbedderPolicy: false,
};
