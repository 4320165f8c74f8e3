/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The shared package is ESM built to dist; Next bundles it like any dependency.
  transpilePackages: ['@ovation/shared'],
  experimental: {
    // Next keeps a copy of each body for proxy.ts (10 MB by default). server.mjs refuses bodies
    // over 64 KiB before they get here, so the copy never holds more than that, under `next dev` too.
    proxyClientMaxBodySize: 64 * 1024,
  },
};

export default nextConfig;
