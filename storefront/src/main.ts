// The storefront's entry point: the routes and the header.

import './styles.css';
import { renderHeader } from './layout';
import { fallback, route, start } from './router';
import { signIn, signUp } from './pages/account';
import { cart } from './pages/cart';
import { checkout } from './pages/checkout';
import { home } from './pages/home';
import { notFound } from './pages/notfound';
import { myOrders, orderDetail } from './pages/orders';
import { restaurant } from './pages/restaurant';
import { search } from './pages/search';
import { staff } from './pages/staff';

route('/', home);
route('/search', search);
route('/restaurants/:slug', restaurant);
route('/cart', cart);
route('/checkout', checkout);
route('/orders', myOrders);
route('/orders/:id', orderDetail);
route('/sign-in', signIn);
route('/sign-up', signUp);
route('/staff', staff);
fallback(notFound);

renderHeader();
start();
