// `node -r` preload for the command line: registers the test plugin with the built library ($CT_LIB).
require('./detached-executor')(require(process.env.CT_LIB));
