/** `lease-guard/mysql2`: run the protocol directly over MySQL/MariaDB with mysql2 (outside the Data API). */
export { createMysql2Executor, type Mysql2ExecutorOptions } from './sql/mysql2-executor.js';
