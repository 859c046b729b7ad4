/**
 * The status model lives in the protocol (one definition for the dispatcher,
 * the kernel, the CLI and the browser); workflow code imports it from here.
 */
export { Status, TERMINAL_STATUSES, isTerminal, canTransition, dispatchStatusOf } from '../protocol/status';
