declare const configs: Array<import('rollup').RollupOptions>;
export default configs;
