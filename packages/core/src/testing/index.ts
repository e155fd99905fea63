export { nested, outcomeOf, picker, seededRandom, slots, type Pick } from './fuzz';
