/** Command ids, in one place so the palette, menus and tests agree. */
export namespace CommandIDs {
  export const cancelDispatch = 'covalent-ts:cancel-dispatch';
  export const cancelSelectedTask = 'covalent-ts:cancel-selected-task';
  export const showDispatches = 'covalent-ts:show-dispatches';
}
