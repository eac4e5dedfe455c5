import nock from 'nock';

// Unit tests never touch the network: any request nock was not told to expect fails.
nock.disableNetConnect();
