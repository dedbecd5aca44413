// The pages outside the inbox, loaded together as one lazy chunk when the
// first of them is opened. One chunk rather than one each: as soon as two
// lazy chunks share a module (Heading, the history's components, an icon),
// Rolldown splits the inbox's first load into two files, about 3 KB of
// gzipped JavaScript more (rolldown/rolldown#10731); scripts/size.mjs
// fails the build when the first load is more than one script.
export { default as Settings } from './Settings'
export { default as History } from './History'
export { default as Ops } from './Ops'
