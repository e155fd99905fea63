import { runRealTransplant, type RealTransplantOptions } from '../../real-transplant';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run experiments:real-transplant`: a zoo task module on a real backbone, scored on real photographs. */
export default toolExecutor<RealTransplantOptions>(runRealTransplant, schema);
