export { AdapterConvOptions, adapterConv } from './adapter-conv';
