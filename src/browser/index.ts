export * from '../core/index.js';
export { connect } from './connect.js';
