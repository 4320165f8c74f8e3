/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The shared package is ESM built to dist; Next bundles it like any dependency.
  transpilePackages: ['@ovation/shared'],
};

export default nextConfig;
