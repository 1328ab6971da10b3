/** Every command of the bin, registered in help order. One import per file under src/cli/. */
import './plan';
import './reconcile';
import './check';
import './role-agent';
export {};
