/** Entry point of the bundled server (`dist/server/server.js`); the transport comes from argv. */
import { startServer } from './server';

startServer();
