// Remote tests wait on real daemons on a loaded 2-core machine: generous bounds.
jest.setTimeout(180000);
