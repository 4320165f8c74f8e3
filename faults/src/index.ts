// The fault-injection suite (see RELIABILITY.md); `npm run faults -- --help`.
export {};
